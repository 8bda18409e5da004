"""Demo texts for the programmes with questions, pesinet (French; Bambara has no espeak-ng
voice and is spoken with the fallback's) and m2m (English, Swahili, Portuguese): the messages,
the prompts in French, Swahili and Portuguese, and each question's prompt by question key.
audio/demo.py speaks them with espeak-ng. The English prompts are audio/demo.py's (shared with
mmitra and kilkari: one catalogue, one file per prompt and language).
"""
from __future__ import annotations

from ivr import constants as C

MESSAGE_TEXT = {
    "fr": "Message de démonstration {n} sur {total}.",
    "sw": "Ujumbe wa majaribio {n} kati ya {total}.",
    "pt": "Mensagem de demonstração {n} de {total}.",
}

# The greetings are short on purpose: the demo's phone presses its first key 3 s after it
# answers, and that key must reach her message (ivr/demo_scenes.py).
PROMPT_TEXT = {
    "fr": {
        C.PROMPT_GREETING: "Bonjour.",
        C.PROMPT_MENU: "Appuyez sur 1 pour réécouter le message, sur 0 pour parler à un agent "
                       "de santé, sur 9 pour arrêter ces appels.",
        C.PROMPT_INVALID: "Désolé, cette touche n'est pas valide.",
        C.PROMPT_GOODBYE: "Merci. Au revoir.",
        C.PROMPT_OPTOUT_CONFIRM: "Pour arrêter tous les messages, appuyez sur 1. Sinon, "
                                 "raccrochez.",
        C.PROMPT_OPTOUT_DONE: "Vous ne recevrez plus de messages. Au revoir.",
        C.PROMPT_OPTOUT_FAILED: "Désolé, nous n'avons pas pu arrêter vos messages. Un agent "
                                "de santé vous rappellera.",
        C.PROMPT_CALL_CENTRE: "Nous vous mettons en relation avec un agent de santé. "
                              "Veuillez patienter.",
        C.PROMPT_SORRY: "Désolé, nous ne pouvons pas lire votre message maintenant. Nous vous "
                        "rappellerons.",
        C.PROMPT_LINE_MENU: "Appuyez sur 1 pour réécouter votre message, 2 pour le précédent, "
                            "3 pour changer l'heure des appels, 4 pour changer de langue, 5 si "
                            "votre bébé est né, 0 pour parler à un agent de santé, 9 pour "
                            "arrêter ces appels.",
        C.PROMPT_LINE_NO_MESSAGE: "Il n'y a pas encore de message pour vous.",
        C.PROMPT_LINE_SLOTS: "Appuyez sur le numéro de l'heure choisie: 1 pour la première "
                             "heure de la journée, 2 pour la suivante, et ainsi de suite.",
        C.PROMPT_LINE_LANGUAGES: "Appuyez sur 1 pour le français, 2 pour le bambara.",
        C.PROMPT_LINE_BIRTH_CONFIRM: "Si votre bébé est né, appuyez sur 1.",
        C.PROMPT_LINE_BIRTH_NOTED: "Félicitations. Un agent de santé vous appellera pour "
                                   "confirmer la date.",
        C.PROMPT_LINE_CHANGED: "Votre choix est enregistré.",
        C.PROMPT_LINE_NOT_CHANGED: "Désolé, nous n'avons pas pu l'enregistrer. Rappelez plus "
                                   "tard.",
        C.PROMPT_LINE_UNKNOWN: "Ce numéro n'est pas inscrit aux messages de santé. Appuyez sur "
                               "0 pour parler à un agent de santé.",
        C.PROMPT_LINE_CODE: "Tapez le code de l'enfant, puis la touche dièse.",
        C.PROMPT_LINE_CODE_UNKNOWN: "Ce code n'est pas celui d'un de vos enfants.",
        C.PROMPT_LINE_NO_QUESTIONS: "Il n'y a pas de questions pour cet enfant cette semaine.",
        C.PROMPT_LINE_SAVED: "Les réponses sont enregistrées. Tapez le code de l'enfant "
                             "suivant, ou raccrochez.",
        C.PROMPT_NOTIFY_COME: "Votre médecin vous demande de venir au centre de santé le",
    },
    "sw": {
        C.PROMPT_GREETING: "Habari.",
        C.PROMPT_MENU: "Bonyeza 1 kusikiliza ujumbe tena, 0 kuongea na mhudumu wa afya, 9 "
                       "kusimamisha simu hizi.",
        C.PROMPT_INVALID: "Samahani, kitufe hicho si sahihi.",
        C.PROMPT_GOODBYE: "Asante. Kwaheri.",
        C.PROMPT_OPTOUT_CONFIRM: "Kusimamisha jumbe zote, bonyeza 1. La sivyo, kata simu.",
        C.PROMPT_OPTOUT_DONE: "Hutapokea jumbe zaidi. Kwaheri.",
        C.PROMPT_OPTOUT_FAILED: "Samahani, hatukuweza kusimamisha jumbe zako sasa. Mhudumu wa "
                                "afya atakupigia.",
        C.PROMPT_CALL_CENTRE: "Tunakuunganisha na mhudumu wa afya. Tafadhali subiri.",
        C.PROMPT_SORRY: "Samahani, hatuwezi kucheza ujumbe wako sasa. Tutakupigia tena.",
        C.PROMPT_LINE_MENU: "Bonyeza 1 kusikiliza ujumbe wako tena, 2 ujumbe uliopita, 3 "
                            "kubadilisha muda wa simu, 4 kubadilisha lugha, 5 kama mtoto wako "
                            "amezaliwa, 0 kuongea na mhudumu wa afya, 9 kusimamisha simu hizi.",
        C.PROMPT_LINE_NO_MESSAGE: "Bado hakuna ujumbe kwa ajili yako.",
        C.PROMPT_LINE_SLOTS: "Bonyeza namba ya muda unaotaka: 1 kwa muda wa kwanza wa siku, 2 "
                             "kwa unaofuata, na kadhalika.",
        C.PROMPT_LINE_LANGUAGES: "Bonyeza 1 kwa Kiingereza, 2 kwa Kiswahili, 3 kwa Kireno.",
        C.PROMPT_LINE_BIRTH_CONFIRM: "Kama mtoto wako amezaliwa, bonyeza 1.",
        C.PROMPT_LINE_BIRTH_NOTED: "Hongera. Mhudumu wa afya atakupigia kuthibitisha tarehe.",
        C.PROMPT_LINE_CHANGED: "Chaguo lako limehifadhiwa.",
        C.PROMPT_LINE_NOT_CHANGED: "Samahani, hatukuweza kulihifadhi sasa. Tafadhali piga "
                                   "tena baadaye.",
        C.PROMPT_LINE_UNKNOWN: "Namba hii haijasajiliwa kwa jumbe za afya. Bonyeza 0 kuongea "
                               "na mhudumu wa afya.",
        C.PROMPT_LINE_CODE: "Weka namba ya mtoto, kisha kitufe cha alama ya reli.",
        C.PROMPT_LINE_CODE_UNKNOWN: "Namba hiyo si ya mmoja wa watoto wako.",
        C.PROMPT_LINE_NO_QUESTIONS: "Hakuna maswali kwa mtoto huyu wiki hii.",
        C.PROMPT_LINE_SAVED: "Majibu yamehifadhiwa. Weka namba ya mtoto anayefuata, au kata "
                             "simu.",
        C.PROMPT_NOTIFY_COME: "Daktari wako anakuomba uje kituo cha afya tarehe",
    },
    "pt": {
        C.PROMPT_GREETING: "Olá.",
        C.PROMPT_MENU: "Prima 1 para ouvir a mensagem de novo, 0 para falar com um agente de "
                       "saúde, 9 para parar estas chamadas.",
        C.PROMPT_INVALID: "Desculpe, essa tecla não é válida.",
        C.PROMPT_GOODBYE: "Obrigado. Adeus.",
        C.PROMPT_OPTOUT_CONFIRM: "Para parar todas as mensagens, prima 1. Caso contrário, "
                                 "desligue.",
        C.PROMPT_OPTOUT_DONE: "Não vai receber mais mensagens. Adeus.",
        C.PROMPT_OPTOUT_FAILED: "Desculpe, não conseguimos parar as suas mensagens agora. Um "
                                "agente de saúde vai ligar-lhe.",
        C.PROMPT_CALL_CENTRE: "Vamos ligá-la a um agente de saúde. Por favor, aguarde.",
        C.PROMPT_SORRY: "Desculpe, não podemos tocar a sua mensagem agora. Vamos ligar de novo.",
        C.PROMPT_LINE_MENU: "Prima 1 para ouvir a sua mensagem de novo, 2 para a anterior, 3 "
                            "para mudar a hora das chamadas, 4 para mudar a língua, 5 se o seu "
                            "bebé nasceu, 0 para falar com um agente de saúde, 9 para parar "
                            "estas chamadas.",
        C.PROMPT_LINE_NO_MESSAGE: "Ainda não há nenhuma mensagem para si.",
        C.PROMPT_LINE_SLOTS: "Prima o número da hora que quer: 1 para a primeira hora do dia, "
                             "2 para a seguinte, e assim por diante.",
        C.PROMPT_LINE_LANGUAGES: "Prima 1 para inglês, 2 para suaíli, 3 para português.",
        C.PROMPT_LINE_BIRTH_CONFIRM: "Se o seu bebé nasceu, prima 1.",
        C.PROMPT_LINE_BIRTH_NOTED: "Parabéns. Um agente de saúde vai ligar-lhe para confirmar "
                                   "a data.",
        C.PROMPT_LINE_CHANGED: "A sua escolha foi guardada.",
        C.PROMPT_LINE_NOT_CHANGED: "Desculpe, não foi possível guardar agora. Ligue mais tarde.",
        C.PROMPT_LINE_UNKNOWN: "Este número não está inscrito nas mensagens de saúde. Prima 0 "
                               "para falar com um agente de saúde.",
        C.PROMPT_LINE_CODE: "Marque o código da criança, depois a tecla cardinal.",
        C.PROMPT_LINE_CODE_UNKNOWN: "Esse código não é de nenhuma das suas crianças.",
        C.PROMPT_LINE_NO_QUESTIONS: "Não há perguntas para esta criança esta semana.",
        C.PROMPT_LINE_SAVED: "As respostas foram guardadas. Marque o código da criança "
                             "seguinte, ou desligue.",
        C.PROMPT_NOTIFY_COME: "O seu médico pede-lhe que venha ao centro de saúde no dia",
    },
}

MONTHS = {
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "sw": "Januari Februari Machi Aprili Mei Juni Julai Agosti Septemba Oktoba Novemba Desemba",
    "pt": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro "
          "dezembro",
}

# A question's prompt, by language and question key (scheduler/programmes/pesinet.toml,
# m2m.toml): it names the keys to press.
QUESTION_TEXT = {
    "fr": {
        "fever": "Votre enfant a-t-il eu de la fièvre cette semaine? Oui: 1. Non: 2.",
        "stools": "Les selles de l'enfant: normales, 1. Molles, 2. Liquides, 3.",
        "weight": "Tapez le poids de l'enfant en kilos et dixièmes, puis dièse. Par exemple "
                  "1, 2, 3, dièse pour 12 kilos 3.",
    },
    "en": {
        "medicine": "Did you take your medicine every day this week? Yes: 1. No: 2.",
        "satisfaction": "How happy are you with this service? Press 1 for not at all, up to 5 "
                        "for very happy.",
    },
    "sw": {
        "medicine": "Je, ulikunywa dawa yako kila siku wiki hii? Ndiyo: 1. Hapana: 2.",
        "satisfaction": "Umeridhika kiasi gani na huduma hii? Bonyeza 1 kwa sijaridhika "
                        "kabisa, hadi 5 kwa nimeridhika sana.",
    },
    "pt": {
        "medicine": "Tomou o seu medicamento todos os dias esta semana? Sim: 1. Não: 2.",
        "satisfaction": "Qual é a sua satisfação com este serviço? Prima 1 para nada "
                        "satisfeita, até 5 para muito satisfeita.",
    },
}
